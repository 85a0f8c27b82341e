//! Generated entries shaped like the trade, for benchmarks and large tests:
//! productions, sales, mixes with splits, exports and import confirmations
//! across the reference participants, plus deep lots that mix many imports.

use crate::devnet::{DevKeys, PARTICIPANTS};
use kp_schemas::entry::sign_record;
use kp_schemas::model::*;
use kp_schemas::stats::period::add_days;
use kp_schemas::{Hash32, Keypair, PublicKey, SignedEntry};
use rayon::prelude::*;
use std::collections::HashMap;

/// The network generated workloads belong to.
pub const NETWORK: &str = "kp-bench";
const MINERS: usize = 4;
const TRADERS: usize = 4;
const EXPORTERS: usize = 2;
const IMPORTERS: usize = 2;
/// Imported lots mixed into one deep lot: 2 productions each, so 50 behind it.
pub const DEEP_FAN_IN: usize = 25;
/// Entries per chain: 2 productions, 2 sales, 1 mix, 1 export, 1 confirmation.
pub const CHAIN_ENTRIES: usize = 7;

/// Generated trade-shaped entries: chains of production, sales, mixes,
/// exports and confirmations across the reference participants.
pub struct Workload {
    /// The keys that signed them; their roster is the workload's network.
    pub keys: DevKeys,
    /// Wire bytes of every entry, in an order in which each is acceptable.
    pub entries: Vec<Vec<u8>>,
    /// `(participant, lot)` of lots at least 8 hops deep with 50 productions behind.
    pub deep_lots: Vec<(String, String)>,
}

struct People {
    miners: Vec<Keypair>,
    traders: Vec<Keypair>,
    exporters: Vec<Keypair>,
    importers: Vec<Keypair>,
}

// A short-lived plan: the size of its variants does not matter.
#[allow(clippy::large_enum_variant)]
enum Step {
    Authority(usize, Body),
    Monitor(Body),
    /// Countersigned by participant `.0`'s authority; `.1` signed the record.
    Record(usize, Keypair, RecordBody),
}

fn people(seed: u8, p: usize) -> People {
    let k = |role: u8, i: usize| {
        let mut s = [0u8; 32];
        s[0] = seed;
        s[1] = p as u8;
        s[2] = role;
        s[3] = i as u8;
        s[31] = 0x55;
        Keypair::from_seed(s)
    };
    People {
        miners: (0..MINERS).map(|i| k(1, i)).collect(),
        traders: (0..TRADERS).map(|i| k(2, i)).collect(),
        exporters: (0..EXPORTERS).map(|i| k(3, i)).collect(),
        importers: (0..IMPORTERS).map(|i| k(4, i)).collect(),
    }
}

fn take(lot: &str, w: Weight) -> Take {
    Take { lot: lot.into(), weight: w }
}

fn out(lot: &str, w: Weight, holder: PublicKey) -> Output {
    Output { lot: lot.into(), weight: w, holder }
}

/// About `n` entries (rounded to whole chains) and `deep` deep lots.
pub fn generate(n: usize, deep: usize, progress: &(dyn Fn(usize) + Sync)) -> Workload {
    let keys = DevKeys::from_seed(40);
    let codes: Vec<&str> = PARTICIPANTS.iter().map(|p| p.0).collect();
    let all: Vec<People> = (0..codes.len()).map(|p| people(40, p)).collect();
    let mut steps = Vec::new();
    for (p, ppl) in all.iter().enumerate() {
        for (role, keys) in [(Role::Miner, &ppl.miners), (Role::Trader, &ppl.traders), (Role::Exporter, &ppl.exporters)]
        {
            for (i, k) in keys.iter().enumerate() {
                let roles = if role == Role::Exporter { vec![Role::Exporter, Role::Trader] } else { vec![role] };
                steps.push(Step::Authority(
                    p,
                    Body::RegisterLicensee(LicenseeRegistration {
                        licensee: k.public(),
                        name: format!("{} {} {i}", codes[p], role.as_str()),
                        roles,
                    }),
                ));
            }
        }
        for (i, k) in ppl.importers.iter().enumerate() {
            let roles = vec![Role::Importer, Role::Trader, Role::Exporter];
            steps.push(Step::Authority(
                p,
                Body::RegisterLicensee(LicenseeRegistration {
                    licensee: k.public(),
                    name: format!("{} importer {i}", codes[p]),
                    roles,
                }),
            ));
        }
    }
    let zone = Body::ZoneStatus(ZoneStatus {
        participant: "CF".into(),
        zone: "BER".into(),
        name: "Berberati".into(),
        status: ZoneState::Compliant,
        effective: "2016-01-01".into(),
        previous: None,
    });
    // The monitor writes only this entry, so its hash is known now, and CF
    // productions can name it (R6).
    let zone_hash = SignedEntry::sign(
        Entry {
            network: NETWORK.into(),
            author: keys.monitor.public(),
            seq: 1,
            prev: Hash32::ZERO,
            timestamp_ms: timestamp(steps.len()),
            context: vec![],
            body: zone.clone(),
        },
        &keys.monitor,
    )
    .hash();
    steps.push(Step::Monitor(zone));

    let chains = n.saturating_sub(steps.len() + deep * 4) / CHAIN_ENTRIES;
    // Chains whose importer is the EU (participant 2), for the deep lots.
    let mut eu_imports = Vec::new();
    let mut confirm_of = Vec::new();
    for i in 0..chains {
        let p = i % codes.len();
        let q = (p + 1) % codes.len();
        let (pc, qc) = (codes[p], codes[q]);
        let ppl = &all[p];
        let miner = &ppl.miners[i % MINERS];
        let trader = &ppl.traders[i % TRADERS];
        let exporter = &ppl.exporters[i % EXPORTERS];
        let w1: Weight = 10_000 + (i as u64 * 7919) % 490_000;
        let w2: Weight = 10_000 + (i as u64 * 104_729) % 490_000;
        // Three years of trade, day by day, so that statistics by period
        // have something to add up.
        let day = |n: i64| add_days("2016-01-04", (i as i64 * 1095) / chains.max(1) as i64 + n).expect("a date");
        let (a, b) = (format!("{pc}/P/{i}a"), format!("{pc}/P/{i}b"));
        for (lot, w) in [(&a, w1), (&b, w2)] {
            let zone = (pc == "CF").then(|| ZoneRef { zone: "BER".into(), status_entry: Some(zone_hash) });
            steps.push(Step::Record(
                p,
                miner.clone(),
                RecordBody::Production(Production {
                    lot: lot.clone(),
                    site: "Site".into(),
                    zone,
                    weight: w,
                    stones: 10,
                    date: day(0),
                    nature: Nature::Natural,
                    value_cents: Some(w * 800),
                }),
            ));
        }
        let (ta, tb) = (format!("{pc}/T/{i}a"), format!("{pc}/T/{i}b"));
        for (from, to, w) in [(&a, &ta, w1), (&b, &tb, w2)] {
            steps.push(Step::Record(
                p,
                miner.clone(),
                RecordBody::Transfer(Transfer {
                    inputs: vec![take(from, w)],
                    outputs: vec![out(to, w, trader.public())],
                    date: day(1),
                }),
            ));
        }
        let (x, r) = (format!("{pc}/X/{i}"), format!("{pc}/R/{i}"));
        let sent = (w1 + w2) * 3 / 4;
        steps.push(Step::Record(
            p,
            trader.clone(),
            RecordBody::Transfer(Transfer {
                inputs: vec![take(&ta, w1), take(&tb, w2)],
                outputs: vec![out(&x, sent, exporter.public()), out(&r, w1 + w2 - sent, trader.public())],
                date: day(2),
            }),
        ));
        let cert = format!("{pc}-1{i:09}");
        steps.push(Step::Record(
            p,
            exporter.clone(),
            RecordBody::Export(Export {
                certificate: cert.clone(),
                importer: qc.into(),
                consignee: format!("{qc} importer 0"),
                inputs: vec![take(&x, sent)],
                lines: vec![HsLine { code: "7102.31".into(), weight: sent, value_cents: sent * 1_000 }],
                parcels: 1,
                issued: day(3),
                expires: day(3 + 365),
            }),
        ));
        let lot = format!("{qc}/I/{i}");
        confirm_of.push((steps.len(), steps.len() - 1));
        steps.push(Step::Authority(
            q,
            Body::ImportConfirmation(ImportConfirmation {
                exporter: pc.into(),
                certificate: cert,
                certificate_entry: Hash32::ZERO,
                weight: sent,
                parcels: 1,
                lot: lot.clone(),
                holder: all[q].importers[0].public(),
                date: day(3 + 1 + (i % 9) as i64),
            }),
        ));
        if qc == "EU" {
            eu_imports.push((lot, sent));
        }
    }
    let eu = codes.iter().position(|c| *c == "EU").expect("EU is a reference participant");
    let india = codes.iter().position(|c| *c == "IN").expect("IN is a reference participant");
    let eu_importer = &all[eu].importers[0];
    let mut deep_lots = Vec::new();
    for (d, group) in eu_imports.chunks_exact(DEEP_FAN_IN).take(deep).enumerate() {
        let total: Weight = group.iter().map(|(_, w)| w).sum();
        let (m, sa, sb) = (format!("EU/D/{d}"), format!("EU/DS/{d}a"), format!("EU/DS/{d}b"));
        steps.push(Step::Record(
            eu,
            eu_importer.clone(),
            RecordBody::Transfer(Transfer {
                inputs: group.iter().map(|(l, w)| take(l, *w)).collect(),
                outputs: vec![out(&m, total, eu_importer.public())],
                date: "2019-04-01".into(),
            }),
        ));
        let half = total / 2;
        steps.push(Step::Record(
            eu,
            eu_importer.clone(),
            RecordBody::Transfer(Transfer {
                inputs: vec![take(&m, total)],
                outputs: vec![out(&sa, half, eu_importer.public()), out(&sb, total - half, eu_importer.public())],
                date: "2019-04-02".into(),
            }),
        ));
        let cert = format!("EU-2{d:09}");
        steps.push(Step::Record(
            eu,
            eu_importer.clone(),
            RecordBody::Export(Export {
                certificate: cert.clone(),
                importer: "IN".into(),
                consignee: "IN importer 0".into(),
                inputs: vec![take(&sa, half)],
                lines: vec![HsLine { code: "7102.31".into(), weight: half, value_cents: half * 1_000 }],
                parcels: 1,
                issued: "2019-04-03".into(),
                expires: "2020-04-03".into(),
            }),
        ));
        let lot = format!("IN/DI/{d}");
        confirm_of.push((steps.len(), steps.len() - 1));
        steps.push(Step::Authority(
            india,
            Body::ImportConfirmation(ImportConfirmation {
                exporter: "EU".into(),
                certificate: cert,
                certificate_entry: Hash32::ZERO,
                weight: half,
                parcels: 1,
                lot: lot.clone(),
                holder: all[india].importers[0].public(),
                date: "2019-04-10".into(),
            }),
        ));
        deep_lots.push(("IN".to_string(), lot));
    }

    // Licensee signatures do not depend on anything: sign them in parallel.
    let records: Vec<Option<Countersigned>> = steps
        .par_iter()
        .enumerate()
        .map(|(i, s)| match s {
            Step::Record(_, k, body) => Some(sign_record(NETWORK, k, i as u64, body.clone()).to_countersigned()),
            _ => None,
        })
        .collect();
    // Entries chain by hash within each log and confirmations name export
    // entries of other logs, so entries are signed in order.
    let confirms: HashMap<usize, usize> = confirm_of.into_iter().collect();
    let mut heads: HashMap<PublicKey, (u64, Hash32)> = HashMap::new();
    let mut hashes: Vec<Hash32> = Vec::with_capacity(steps.len());
    let mut entries = Vec::with_capacity(steps.len());
    for (i, (step, rec)) in steps.into_iter().zip(records).enumerate() {
        // Every CF lot comes from Berberati: CF's productions and exports,
        // and confirmations of CF certificates, read that zone (R6).
        let zoned = match &step {
            Step::Record(p, _, RecordBody::Production(x)) => codes[*p] == "CF" && x.zone.is_some(),
            Step::Record(p, _, RecordBody::Export(_)) => codes[*p] == "CF",
            Step::Authority(_, Body::ImportConfirmation(c)) => c.exporter == "CF",
            _ => false,
        };
        let context = if zoned { vec![zone_hash] } else { vec![] };
        let (key, body) = match step {
            Step::Authority(p, mut body) => {
                if let (Body::ImportConfirmation(c), Some(&export_step)) = (&mut body, confirms.get(&i)) {
                    c.certificate_entry = hashes[export_step];
                }
                (keys.authority(codes[p]), body)
            }
            Step::Monitor(body) => (&keys.monitor, body),
            Step::Record(p, ..) => (keys.authority(codes[p]), Body::Countersigned(rec.expect("record signed above"))),
        };
        let author = key.public();
        let (seq, prev) = heads.get(&author).map(|(s, h)| (s + 1, *h)).unwrap_or((1, Hash32::ZERO));
        let e = SignedEntry::sign(
            Entry { network: NETWORK.into(), author, seq, prev, timestamp_ms: timestamp(i), context, body },
            key,
        );
        heads.insert(author, (seq, e.hash()));
        hashes.push(e.hash());
        entries.push(e.into_bytes());
        if i % 10_000 == 0 {
            progress(i);
        }
    }
    Workload { keys, entries, deep_lots }
}

fn timestamp(step: usize) -> u64 {
    1_500_000_000_000 + step as u64
}

/// Store `entries` in the data directory of a stopped node, through the
/// node's own write path: for seeding tests and benchmarks. Returns how many
/// were stored.
pub fn seed(
    data_dir: &std::path::Path,
    roster: &kp_schemas::model::SignedRoster,
    entries: &[Vec<u8>],
) -> anyhow::Result<usize> {
    let store = kp_node::store::RocksStore::open(&data_dir.join(kp_node::node::layout::DB))?;
    let ledger = std::sync::Arc::new(kp_node::ledger::Ledger::open(Box::new(store), Some(roster))?);
    ingest(ledger, entries, kp_node::ingest::MAX_BATCH)
}

/// Submit `entries` in order, `batch` at a time, through the writer thread
/// as the node runs it: each batch is verified on the CPU pool before it
/// queues, and two are in flight, so the next is verified while the writer
/// judges and syncs one. Every entry must be stored. Returns how many were.
pub fn ingest(
    ledger: std::sync::Arc<kp_node::ledger::Ledger>,
    entries: &[Vec<u8>],
    batch: usize,
) -> anyhow::Result<usize> {
    use kp_node::ingest::{Submission, Writer};
    let writer = Writer::new(ledger, kp_node::keys::Keyring::default(), Default::default());
    let (handle, thread) = kp_node::ingest::spawn(writer);
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let stored = rt.block_on(async {
        let mut chunks = entries.chunks(batch.max(1)).map(|c| c.iter().cloned().map(Submission::Entry).collect());
        let mut in_flight = std::collections::VecDeque::new();
        let mut stored = 0;
        loop {
            while in_flight.len() < 2 {
                let Some(subs) = chunks.next() else { break };
                in_flight.push_back(handle.enqueue_many(subs).await);
            }
            let Some(next) = in_flight.pop_front() else { break };
            for r in next.outcomes().await {
                r.and_then(kp_node::outcome::Outcome::into_reply).map_err(|e| anyhow::anyhow!("seeding: {e}"))?;
                stored += 1;
            }
        }
        anyhow::Ok(stored)
    })?;
    drop(handle);
    let _ = thread.join();
    Ok(stored)
}
