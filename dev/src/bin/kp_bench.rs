//! kp-bench: ingest throughput against this machine's signature bound, trail
//! latency, bytes on disk per entry and peak memory, measured in one run.
//! With --trees-ratio, instead: what Merkle trees and checkpoints cost ingest,
//! and what exporting and verifying the bundle of a deep lot costs. With
//! --countersign: ingest when the node signs the entries itself.
//! Figures and commands are recorded in docs/BENCHMARKS.md.

use anyhow::bail;
use clap::Parser;
use indicatif::{ProgressBar, ProgressStyle};
use kp_dev::workload;
use kp_node::export;
use kp_node::ingest::{Submission, Writer};
use kp_node::keys::Keyring;
use kp_node::ledger::Ledger;
use kp_node::metrics::Metrics;
use kp_node::outcome::Outcome;
use kp_node::store::{Column, KeyValueStore, Op, RocksStore, StoreError};
use kp_node::witness::{CheckpointConfig, Verdict as WitnessVerdict, Witness};
use kp_schemas::bundle::{self, VerifyOptions};
use kp_schemas::checkpoint::SignedCheckpoint;
use kp_schemas::crypto::{Domain, verify};
use kp_schemas::model::{Body, Subject};
use kp_schemas::{SignedEntry, trail};
use rayon::prelude::*;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

// The write path allocates many small buffers; mimalloc handles that
// pattern better than the system allocator.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(about = "Benchmark kpledger ingest and trail queries on generated trade-shaped entries")]
struct Args {
    /// Entries to generate and ingest.
    #[arg(long, default_value_t = 1_000_000)]
    entries: usize,
    /// Deep lots (8 hops, 50 productions behind each) for trail queries.
    #[arg(long, default_value_t = 200)]
    deep: usize,
    /// Submissions per group commit.
    #[arg(long, default_value_t = 4096)]
    batch: usize,
    /// Trail queries to time.
    #[arg(long, default_value_t = 2000)]
    queries: usize,
    /// Also time the stages of ingest apart: parallel decode and signature
    /// checks alone, then judging and writing already-verified entries alone.
    #[arg(long)]
    breakdown: bool,
    /// Store directory [default: a temporary directory, removed at the end].
    #[arg(long)]
    dir: Option<std::path::PathBuf>,
    /// Instead of the figures above, measure what Merkle trees and
    /// checkpoints cost ingest: the same entries into fresh stores (each in
    /// a temporary directory) without trees (the baseline), with trees, and
    /// with trees and witnesses signing and cosigning checkpoints every
    /// 100 ms, in --rounds rounds (in turn forward and backward). At the
    /// end of the last run with checkpoints, the bundles of up to 50 deep
    /// lots are exported and verified offline.
    #[arg(long)]
    trees_ratio: bool,
    /// Rounds of (baseline, trees, trees + checkpoints) for --trees-ratio,
    /// of (pre-signed, countersigned) for --countersign.
    #[arg(long, default_value_t = 2)]
    rounds: usize,
    /// Instead of the figures above, measure ingest when the node signs:
    /// each licensee record of the workload submitted as a record for the
    /// node to countersign (`Submission::Record`) and each authority's own
    /// entry as an action (`Submission::Action`), against the same entries
    /// submitted already signed (`Submission::Entry`, the baseline), each
    /// into a fresh store, in --rounds rounds. Without deep lots: an import
    /// confirmation names the export entry the node signs, so it waits for
    /// the batch after its export, and a deep lot would wait for it.
    #[arg(long)]
    countersign: bool,
}

fn bar(len: u64, what: &str) -> ProgressBar {
    let b = ProgressBar::new(len);
    b.set_style(
        ProgressStyle::with_template(&format!("{what:>10} {{bar:40}} {{pos}}/{{len}} {{per_sec}} eta {{eta}}"))
            .expect("template"),
    );
    b
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// A memory figure of this process from /proc, in MiB.
fn proc_mib(field: &str) -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with(field)).and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let deep = if args.countersign { 0 } else { args.deep };
    println!(
        "kp-bench: {} entries, {deep} deep lots, batches of {}, {} threads",
        args.entries,
        args.batch,
        rayon::current_num_threads()
    );

    let t = Instant::now();
    let gen_bar = bar(args.entries as u64, "generate");
    let w = workload::generate(args.entries, deep, &|i| gen_bar.set_position(i as u64));
    gen_bar.finish_and_clear();
    let n = w.entries.len();
    let wire: usize = w.entries.iter().map(Vec::len).sum();
    println!(
        "generated {n} entries ({:.0} bytes each on the wire) in {:.1} s",
        wire as f64 / n as f64,
        t.elapsed().as_secs_f64()
    );

    if args.trees_ratio {
        return trees_ratio(&w, &args);
    }
    if args.countersign {
        return countersign_ratio(&w, &args);
    }

    // The signature bound: only the Ed25519 checks these entries carry, on
    // all cores, with messages prepared beforehand.
    let parsed: Vec<SignedEntry> =
        w.entries.par_iter().map(|b| SignedEntry::parse(b.clone()).expect("generated entries parse")).collect();
    let mut sigs = Vec::with_capacity(n * 2);
    for e in &parsed {
        sigs.push((Domain::Entry, e.entry().author, e.signed_part().to_vec(), e.signature()));
        if let Body::Countersigned(c) = &e.entry().body {
            let r = kp_schemas::SignedRecord::from_countersigned(c).expect("generated records parse");
            sigs.push((Domain::Record, r.record().licensee, r.bytes().to_vec(), r.signature()));
        }
    }
    drop(parsed);
    let t = Instant::now();
    let bad = sigs.par_iter().filter(|(d, k, m, s)| verify(*d, k, m, s).is_err()).count();
    let sig_time = t.elapsed().as_secs_f64();
    if bad > 0 {
        bail!("{bad} generated signatures do not verify");
    }
    let sig_rate = sigs.len() as f64 / sig_time;
    let bound = n as f64 / sig_time;
    println!(
        "signature bound: {} signatures in {sig_time:.2} s = {sig_rate:.0} sig/s = {bound:.0} entries/s",
        sigs.len()
    );
    drop(sigs);

    let tmp = tempfile::tempdir()?;
    let dir = args.dir.clone().unwrap_or_else(|| tmp.path().join("db"));
    let store = Arc::new(RocksStore::open(&dir)?);
    let ledger = Arc::new(Ledger::open(Box::new(store.clone()), Some(&w.keys.roster(workload::NETWORK)))?);
    let writer = Writer::new(ledger.clone(), Keyring::default(), Arc::new(Metrics::default()));
    // The generated workload stays in memory; measure what ingest adds to it
    // (writing 5 to clear_refs resets the peak to the current size).
    let before = proc_mib("VmRSS:");
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let ingest_bar = bar(n as u64, "ingest");
    let t = Instant::now();
    for chunk in w.entries.chunks(args.batch) {
        let subs = chunk.iter().map(|b| Submission::Entry(b.clone())).collect();
        for r in writer.process(subs) {
            if let Err(e) = r.and_then(Outcome::into_reply) {
                bail!("a generated entry was refused: {e}");
            }
        }
        ingest_bar.inc(chunk.len() as u64);
    }
    let ingest_time = t.elapsed().as_secs_f64();
    ingest_bar.finish_and_clear();
    let rate = n as f64 / ingest_time;
    println!(
        "ingest: {n} entries in {ingest_time:.1} s = {rate:.0} entries/s (decode, verify, validate, synced group commit)"
    );
    println!("ingest / signature bound = {:.2}", rate / bound);
    let queued = ingest_queued(&w, args.batch)?;
    println!(
        "ingest as the node runs it (verified off the writer thread while it judges and syncs): {n} entries in \
         {queued:.1} s = {:.0} entries/s; / signature bound = {:.2}",
        n as f64 / queued,
        n as f64 / queued / bound
    );
    let peak = proc_mib("VmHWM:");
    println!(
        "memory: {before:.0} MiB before ingest (mostly the generated entries), peak {peak:.0} MiB during ingest: {:.0} MiB for the node's write path",
        peak - before
    );

    if args.breakdown {
        breakdown(&w, args.batch)?;
    }

    let mut lat = Vec::with_capacity(args.queries);
    let (mut min_prod, mut min_depth) = (usize::MAX, usize::MAX);
    for (p, lot) in w.deep_lots.iter().cycle().take(if w.deep_lots.is_empty() { 0 } else { args.queries }) {
        let t = Instant::now();
        let tr = trail::lot_trail(ledger.as_ref(), p, lot, "2018-01-01")?;
        lat.push(t.elapsed());
        min_prod = min_prod.min(tr.productions);
        min_depth = min_depth.min(tr.depth);
    }
    if !lat.is_empty() {
        lat.sort();
        println!(
            "trail: {} queries of {} lots, each >= {min_depth} hops deep with >= {min_prod} productions: p50 {:.2} ms, p99 {:.2} ms",
            lat.len(),
            w.deep_lots.len(),
            percentile(&lat, 0.5).as_secs_f64() * 1e3,
            percentile(&lat, 0.99).as_secs_f64() * 1e3
        );
    }
    let disk = store.disk_bytes()?;
    println!("disk: {:.1} MiB, {:.0} bytes per entry", disk as f64 / (1 << 20) as f64, disk as f64 / n as f64);
    Ok(())
}

/// Stage timings on a second, fresh store.
/// Ingest into a fresh store through the writer thread, as the node does
/// (`workload::ingest`). Returns the seconds taken.
fn ingest_queued(w: &workload::Workload, batch: usize) -> anyhow::Result<f64> {
    let tmp = tempfile::tempdir()?;
    let ledger = Ledger::open(Box::new(RocksStore::open(tmp.path())?), Some(&w.keys.roster(workload::NETWORK)))?;
    let t = Instant::now();
    workload::ingest(Arc::new(ledger), &w.entries, batch)?;
    Ok(t.elapsed().as_secs_f64())
}

fn breakdown(w: &workload::Workload, batch: usize) -> anyhow::Result<()> {
    let t = Instant::now();
    let verified: Vec<kp_schemas::Verified> = w
        .entries
        .par_iter()
        .map(|b| SignedEntry::parse(b.clone()).and_then(SignedEntry::into_verified))
        .collect::<Result<_, _>>()
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let verify_time = t.elapsed().as_secs_f64();
    let tmp = tempfile::tempdir()?;
    let ledger = Ledger::open(Box::new(RocksStore::open(tmp.path())?), Some(&w.keys.roster(workload::NETWORK)))?;
    let t = Instant::now();
    for chunk in verified.chunks(batch) {
        let mut b = ledger.batch();
        for (i, v) in chunk.iter().enumerate() {
            let verdict = kp_schemas::rules::judge(&b, v).map_err(|e| anyhow::anyhow!("{e}"))?;
            b.apply(v, &verdict);
            if i % 256 == 255 {
                b.write_buffered();
            }
        }
        b.commit()?;
    }
    let judge_time = t.elapsed().as_secs_f64();
    let n = w.entries.len() as f64;
    println!(
        "breakdown: decode + verify on all cores {verify_time:.1} s ({:.1} us/entry of wall time); judge + write on one core {judge_time:.1} s ({:.1} us/entry)",
        verify_time * 1e6 / n,
        judge_time * 1e6 / n
    );
    Ok(())
}

/// The store shared between the ledger and the benchmark, which reads the
/// size of each column once ingest is done. A peer's view (`peer` set)
/// shares every column but the checkpoints, which it keeps under its own
/// key prefix: a second `Witness` on it judges and cosigns the checkpoints
/// the first one signs, reading the same trees, as a peer node would.
struct Shared {
    store: Arc<RocksStore>,
    peer: Option<u8>,
}

impl Shared {
    fn key(&self, col: Column, key: &[u8]) -> Vec<u8> {
        match self.peer {
            Some(p) if col == Column::Checkpoints => [&[p], key].concat(),
            _ => key.to_vec(),
        }
    }
    fn ops(&self, ops: Vec<Op>) -> Vec<Op> {
        ops.into_iter()
            .map(|op| match op {
                Op::Put(c, k, v) => Op::Put(c, self.key(c, &k), v),
                Op::Delete(c, k) => Op::Delete(c, self.key(c, &k)),
            })
            .collect()
    }
}

impl KeyValueStore for Shared {
    fn get(&self, col: Column, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        self.store.get(col, &self.key(col, key))
    }
    fn write(&self, ops: Vec<Op>) -> Result<(), StoreError> {
        self.store.write(self.ops(ops))
    }
    fn write_buffered(&self, ops: Vec<Op>) -> Result<(), StoreError> {
        self.store.write_buffered(self.ops(ops))
    }
    fn scan(
        &self,
        col: Column,
        prefix: &[u8],
        start: &[u8],
        limit: usize,
    ) -> Result<Vec<(Vec<u8>, Vec<u8>)>, StoreError> {
        let found = self.store.scan(col, &self.key(col, prefix), &self.key(col, start), limit)?;
        let cut = usize::from(self.peer.is_some() && col == Column::Checkpoints);
        Ok(found.into_iter().map(|(k, v)| (k[cut..].to_vec(), v)).collect())
    }
    fn scan_back(&self, col: Column, prefix: &[u8], limit: usize) -> Result<Vec<(Vec<u8>, Vec<u8>)>, StoreError> {
        let found = self.store.scan_back(col, &self.key(col, prefix), limit)?;
        let cut = usize::from(self.peer.is_some() && col == Column::Checkpoints);
        Ok(found.into_iter().map(|(k, v)| (k[cut..].to_vec(), v)).collect())
    }
}

/// CPU time this process has used on all its threads (RocksDB's
/// background threads too), in seconds: less disturbed than wall time by
/// whatever else the machine runs.
fn cpu_secs() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // After the command name, which is in parentheses, utime and stime are
    // the 12th and 13th fields, in clock ticks of 1/100 s on Linux.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    let tick = |i: usize| f.get(i).and_then(|x| x.parse::<f64>().ok()).unwrap_or(0.0);
    (tick(11) + tick(12)) / 100.0
}

/// CPU time the whole machine has used, in seconds (all cores, from
/// /proc/stat): with [`cpu_secs`], how much else ran during a run.
fn machine_cpu_secs() -> f64 {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let f: Vec<f64> =
        stat.lines().next().unwrap_or("").split_whitespace().skip(1).filter_map(|x| x.parse().ok()).collect();
    // user nice system idle iowait irq softirq steal: all but idle and iowait.
    let busy: f64 = f.iter().take(8).enumerate().filter(|(i, _)| *i != 3 && *i != 4).map(|(_, v)| v).sum();
    busy / 100.0
}

/// What a run keeps besides the entries.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Keep {
    /// No trees: `Ledger::without_trees`, the baseline.
    Nothing,
    /// Each log's Merkle tree, as a node keeps it.
    Trees,
    /// Trees, and checkpoints signed and cosigned while ingesting.
    Checkpoints,
}

impl Keep {
    const ALL: [Keep; 3] = [Keep::Nothing, Keep::Trees, Keep::Checkpoints];
    fn name(self) -> &'static str {
        match self {
            Keep::Nothing => "baseline",
            Keep::Trees => "trees",
            Keep::Checkpoints => "trees + checkpoints",
        }
    }
}

/// One ingest of the workload into a fresh store.
struct Run {
    keep: Keep,
    secs: f64,
    cpu: f64,
    /// Cores other processes kept busy on average during the run.
    others: f64,
    disk: u64,
    tree: u64,
    checkpoints: u64,
    signed: usize,
    stored: usize,
    ticks: u64,
    tick_busy: f64,
    /// Bundles of deep lots, measured in the last run with checkpoints.
    bundles: Option<Bundles>,
}

fn trees_ratio(w: &workload::Workload, args: &Args) -> anyhow::Result<()> {
    let n = w.entries.len();
    let cfg = CheckpointConfig {
        every_entries: 1024,
        every: Duration::from_secs(5),
        quorum: kp_schemas::checkpoint::DEFAULT_QUORUM,
    };
    println!(
        "trees ratio: {n} entries per run, {} rounds of: no trees (baseline); trees; trees and a witness ticking every 100 ms (checkpoints every {} entries or {} s, quorum {})",
        args.rounds,
        cfg.every_entries,
        cfg.every.as_secs(),
        cfg.quorum
    );
    let mut runs: Vec<(usize, Run)> = Vec::new();
    for round in 0..args.rounds {
        // Forward in even rounds, backward in odd ones, so that a drift of
        // the machine weighs on every configuration alike.
        let mut order = Keep::ALL;
        if round % 2 == 1 {
            order.reverse();
        }
        for keep in order {
            let last = round + 1 == args.rounds && keep == Keep::Checkpoints;
            let r = ingest_run(w, args.batch, keep, &cfg, last)?;
            print!(
                "round {} {:<19} {:>6.0} entries/s ({:.1} s, {:.1} us CPU per entry, other processes {:.2} cores); disk {:.0} B/entry",
                round + 1,
                keep.name(),
                n as f64 / r.secs,
                r.secs,
                r.cpu * 1e6 / n as f64,
                r.others,
                r.disk as f64 / n as f64
            );
            if keep != Keep::Nothing {
                print!(", tree {:.0} B/entry", r.tree as f64 / n as f64);
            }
            if keep == Keep::Checkpoints {
                print!(
                    ", checkpoints {:.1} B/entry; {} signed over {} ticks, {} stored, witness thread busy {:.1}% of the run",
                    r.checkpoints as f64 / n as f64,
                    r.signed,
                    r.ticks,
                    r.stored,
                    r.tick_busy * 100.0 / r.secs
                );
            }
            println!();
            runs.push((round, r));
        }
    }

    let sum = |keep: Keep, round: Option<usize>, f: &dyn Fn(&Run) -> f64| -> f64 {
        runs.iter().filter(|(x, r)| r.keep == keep && round.is_none_or(|k| k == *x)).map(|(_, r)| f(r)).sum()
    };
    let row = |label: &str, round: Option<usize>, f: &dyn Fn(&Run) -> f64, unit: &dyn Fn(f64) -> String| {
        let v: Vec<f64> = Keep::ALL.iter().map(|k| sum(*k, round, f)).collect();
        let bold = if round.is_none() { "**" } else { "" };
        println!(
            "| {label} | {} | {} | {} | {bold}{:.2}{bold} | {bold}{:.2}{bold} |",
            unit(v[0]),
            unit(v[1]),
            unit(v[2]),
            v[0] / v[1],
            v[0] / v[2]
        );
    };
    let count = |round: Option<usize>| n as f64 * round.map_or(args.rounds, |_| 1) as f64;
    println!();
    println!(
        "| | baseline (no trees) | trees | trees + checkpoints | trees / baseline | trees + checkpoints / baseline |"
    );
    println!("|---|---|---|---|---|---|");
    for round in 0..args.rounds {
        let k = count(Some(round));
        row(&format!("round {}: entries/s", round + 1), Some(round), &|r| r.secs, &|t| format!("{:.0}", k / t));
    }
    if args.rounds > 2 {
        // A burst of other work on the machine spoils a round, not the median.
        let median = |keep: Keep| {
            let mut v: Vec<f64> = (0..args.rounds)
                .map(|x| sum(Keep::Nothing, Some(x), &|r| r.secs) / sum(keep, Some(x), &|r| r.secs))
                .collect();
            v.sort_by(f64::total_cmp);
            let m = v.len() / 2;
            if !v.len().is_multiple_of(2) { v[m] } else { (v[m - 1] + v[m]) / 2.0 }
        };
        println!(
            "| median of the rounds' ratios | | | | **{:.2}** | **{:.2}** |",
            median(Keep::Trees),
            median(Keep::Checkpoints)
        );
    }
    let k = count(None);
    row("all rounds: entries/s (entries over total time)", None, &|r| r.secs, &|t| format!("{:.0}", k / t));
    row("all rounds: CPU per entry, all threads (ratio: baseline over it)", None, &|r| r.cpu, &|c| {
        format!("{:.1} us", c * 1e6 / k)
    });
    let mean = |keep: Keep, f: &dyn Fn(&Run) -> u64| sum(keep, None, &|r| f(r) as f64) / k;
    let (db, dt, tree, cps) = (
        mean(Keep::Nothing, &|r| r.disk),
        mean(Keep::Checkpoints, &|r| r.disk),
        mean(Keep::Checkpoints, &|r| r.tree),
        mean(Keep::Checkpoints, &|r| r.checkpoints),
    );
    println!(
        "disk per entry (flushed, compactions done): baseline {db:.0} B, trees + checkpoints {dt:.0} B (+{:.0} B); tree column {tree:.0} B = {:.1}% of the store, checkpoints {cps:.1} B",
        dt - db,
        tree * 100.0 / dt
    );
    if let Some(b) = runs.iter().find_map(|(_, r)| r.bundles.as_ref()) {
        print_bundles(b);
    }
    Ok(())
}

fn print_bundles(b: &Bundles) {
    let n = b.entries.len();
    if n == 0 {
        println!("bundles: the workload has no deep lots");
        return;
    }
    let spread = |v: &[usize]| {
        let mean = v.iter().sum::<usize>() as f64 / v.len() as f64;
        let (lo, hi) = (v.iter().min().expect("some"), v.iter().max().expect("some"));
        format!("{lo} / {mean:.0} / {hi}")
    };
    let mean = |v: &[usize]| v.iter().sum::<usize>() as f64 / v.len() as f64;
    let ms = |v: &[Duration], p: f64| {
        let mut v = v.to_vec();
        v.sort();
        percentile(&v, p).as_secs_f64() * 1e3
    };
    let p50_99 = |v: &[Duration]| format!("{:.2} / {:.2} ms", ms(v, 0.5), ms(v, 0.99));
    println!();
    println!("| bundles of {n} deep lots, at the end of the last trees + checkpoints run | value |");
    println!("|---|---|");
    println!("| entries per bundle, min / mean / max | {} |", spread(&b.entries));
    println!("| bytes per bundle (canonical JSON), min / mean / max | {} |", spread(&b.bytes));
    println!(
        "| logs (checkpoints) per bundle, mean; cosignatures per bundle, mean | {:.1}; {:.1} |",
        mean(&b.logs),
        mean(&b.cosignatures)
    );
    println!(
        "| signatures a verifier checks per bundle (entries, checkpoints, cosignatures), mean | {:.0} |",
        mean(&b.signatures)
    );
    println!("| export: `export::export` + `to_json`, p50 / p99 | **{}** |", p50_99(&b.export));
    println!("| of which `to_json`, p50 / p99 | {} |", p50_99(&b.json));
    println!("| verify: `bundle::verify`, each log's quorum, p50 / p99 | **{}** |", p50_99(&b.verify));
    println!("| the signature checks of a bundle alone, p50 / p99 | {} |", p50_99(&b.signature_checks));
    println!("| trail of the same lot (`trail::lot_trail`, warm), p50 / p99 | {} |", p50_99(&b.trail));
    println!(
        "| export / trail; verify / export (ratios of p50s) | {:.1}; {:.1} |",
        ms(&b.export, 0.5) / ms(&b.trail, 0.5),
        ms(&b.verify, 0.5) / ms(&b.export, 0.5)
    );
}

fn ingest_run(
    w: &workload::Workload,
    batch: usize,
    keep: Keep,
    cfg: &CheckpointConfig,
    bundles: bool,
) -> anyhow::Result<Run> {
    let n = w.entries.len();
    let tmp = tempfile::tempdir()?;
    let store = Arc::new(RocksStore::open(&tmp.path().join("db"))?);
    let shared = |peer| Box::new(Shared { store: store.clone(), peer });
    let mut ledger = Ledger::open(shared(None), Some(&w.keys.roster(workload::NETWORK)))?;
    if keep == Keep::Nothing {
        ledger = ledger.without_trees();
    }
    let ledger = Arc::new(ledger);
    let writer = Writer::new(ledger.clone(), Keyring::default(), Arc::new(Metrics::default()));
    // The signer holds every author's key, so it signs a checkpoint of every
    // log. A node does not cosign the logs it writes, so two peers, each
    // with the keys of some authorities, judge and cosign them: each log's
    // checkpoints get the cosignatures of the authorities whose keys the peer
    // without that log's key holds, and they go back to the signer, as over
    // gossip. That is every checkpoint signed once and checked twice here,
    // more than the share of any one node.
    let ring = |keys: &mut dyn Iterator<Item = &kp_schemas::Keypair>| {
        let mut ring = Keyring::default();
        keys.for_each(|k| ring.insert(k.clone()));
        ring
    };
    let auth = &w.keys.authorities;
    let witnesses = if keep == Keep::Checkpoints {
        let all = ring(&mut [&w.keys.chair, &w.keys.monitor].into_iter().chain(auth.iter().map(|(_, k)| k)));
        let signer = Witness::new(ledger.clone(), all, cfg.clone());
        let mut peers = Vec::new();
        for (i, part) in [&auth[..2], &auth[2..]].into_iter().enumerate() {
            let view = Arc::new(Ledger::open(shared(Some(0xf0 + i as u8)), None)?);
            peers.push(Witness::new(view, ring(&mut part.iter().map(|(_, k)| k)), cfg.clone()));
        }
        Some(Arc::new((signer, peers)))
    } else {
        None
    };
    let stop = Arc::new(AtomicBool::new(false));
    // As a node runs it: ticks off the writer's thread, while it writes.
    let ticker = witnesses.clone().map(|wit| {
        let stop = stop.clone();
        std::thread::spawn(move || -> anyhow::Result<(u64, usize, Duration)> {
            let (signer, peers) = &*wit;
            let (mut ticks, mut signed, mut busy) = (0, 0, Duration::ZERO);
            while !stop.load(Ordering::Relaxed) {
                let t = Instant::now();
                signed += witness_round(signer, peers, kp_node::clock::now_ms())?;
                let took = t.elapsed();
                busy += took;
                ticks += 1;
                std::thread::sleep(Duration::from_millis(100).saturating_sub(took));
            }
            Ok((ticks, signed, busy))
        })
    });
    let ingest_bar = bar(n as u64, keep.name());
    let (t, cpu0, all0) = (Instant::now(), cpu_secs(), machine_cpu_secs());
    for chunk in w.entries.chunks(batch) {
        let subs = chunk.iter().map(|b| Submission::Entry(b.clone())).collect();
        for r in writer.process(subs) {
            if let Err(e) = r.and_then(Outcome::into_reply) {
                bail!("a generated entry was refused: {e}");
            }
        }
        ingest_bar.inc(chunk.len() as u64);
    }
    let (secs, cpu) = (t.elapsed().as_secs_f64(), cpu_secs() - cpu0);
    let others = ((machine_cpu_secs() - all0 - cpu) / secs).max(0.0);
    ingest_bar.finish_and_clear();
    stop.store(true, Ordering::Relaxed);
    let (ticks, mut signed, busy) = match ticker {
        Some(h) => h.join().map_err(|_| anyhow::anyhow!("the witness thread panicked"))??,
        None => (0, 0, Duration::ZERO),
    };

    // Every log's newest checkpoint is signed, witnessed, the root of its
    // tree at that size, and covers every entry of the log.
    let mut stored = 0;
    if let Some(wit) = &witnesses {
        // The last entries of a log may be fewer than `every_entries` and
        // younger than `every`: a last round, as the ticker would make
        // `every` after the writes stopped, signs every log at its full
        // size, and the peers cosign those checkpoints.
        let (signer, peers) = &**wit;
        signed += witness_round(signer, peers, kp_node::clock::now_ms() + cfg.every.as_millis() as u64)?;
        let wit = signer;
        // The signer's checkpoints only: the peers' keys start with their prefix.
        stored = ledger
            .heads()?
            .iter()
            .map(|(log, _)| wit.latest(log, usize::MAX).map(|v| v.len()))
            .sum::<Result<usize, _>>()?;
        for (log, head) in ledger.heads()? {
            let Some(s) = wit.latest(&log, 1)?.into_iter().next() else { bail!("log {log} has no checkpoint") };
            let cp = s.signed()?;
            let c = cp.checkpoint();
            if cp.verify().is_err() || c.size > head.seq || ledger.tree(&log).root(c.size)? != c.root {
                bail!("the newest checkpoint of log {log} does not match its tree");
            }
            if c.size != head.seq {
                bail!("the newest checkpoint of log {log} covers {} of its {} entries", c.size, head.seq);
            }
            if wit.witnesses(&s)?.len() < wit.quorum(&ledger.network(), &log) {
                bail!("the newest checkpoint of log {log} is not witnessed");
            }
        }
    }
    let disk = store.disk_bytes()?;
    // After the flush, with compactions done: nothing runs in the background.
    let bundles = match &witnesses {
        Some(wit) if bundles => Some(bundle_figures(w, &ledger, &wit.0)?),
        _ => None,
    };
    Ok(Run {
        keep,
        secs,
        cpu,
        others,
        disk,
        tree: store.column_bytes(Column::Tree)?,
        checkpoints: store.column_bytes(Column::Checkpoints)?,
        signed,
        stored,
        ticks,
        tick_busy: busy.as_secs_f64(),
        bundles,
    })
}

/// One round of witnessing: the signer signs what is due at `now_ms`, each
/// peer judges and cosigns every checkpoint it signed, and the
/// cosignatures go back to the signer, which merges them into its own.
/// Returns the checkpoints signed.
fn witness_round(signer: &Witness, peers: &[Witness], now_ms: u64) -> anyhow::Result<usize> {
    let out = signer.tick(now_ms)?;
    let signed = out.publish.len();
    for m in out.publish {
        for p in peers {
            let (verdict, back) = p.receive(m.clone())?;
            if verdict != WitnessVerdict::Accept || !back.frauds.is_empty() {
                bail!("a peer did not accept a checkpoint: {verdict:?}");
            }
            for c in back.publish {
                signer.receive(c)?;
            }
        }
    }
    Ok(signed)
}

/// Deep lots whose bundles are exported and verified.
const BUNDLE_LOTS: usize = 50;

/// Bundles of deep lots, exported at the signer (whose checkpoints hold the
/// peers' cosignatures) and verified offline with the roster alone.
#[derive(Default)]
struct Bundles {
    entries: Vec<usize>,
    bytes: Vec<usize>,
    /// Checkpoints (one per log the trail touches) and their cosignatures.
    logs: Vec<usize>,
    cosignatures: Vec<usize>,
    /// Ed25519 signatures a verifier checks: each entry's (two for a
    /// countersigned record), each checkpoint's, each cosignature.
    signatures: Vec<usize>,
    /// `export::export` then `Bundle::to_json`.
    export: Vec<Duration>,
    /// `Bundle::to_json` alone.
    json: Vec<Duration>,
    verify: Vec<Duration>,
    /// The signature checks of `verify` alone: parse and verify each entry,
    /// each checkpoint and each cosignature.
    signature_checks: Vec<Duration>,
    /// `trail::lot_trail` of the same lot, walked once before untimed.
    trail: Vec<Duration>,
}

fn bundle_figures(w: &workload::Workload, ledger: &Ledger, signer: &Witness) -> anyhow::Result<Bundles> {
    let roster = w.keys.roster(workload::NETWORK);
    let opts = VerifyOptions { quorum: 0, today: "2030-01-01".into() };
    let mut b = Bundles::default();
    for (participant, lot) in w.deep_lots.iter().take(BUNDLE_LOTS) {
        trail::lot_trail(ledger, participant, lot, "2018-01-01")?;
        let t = Instant::now();
        let tr = trail::lot_trail(ledger, participant, lot, "2018-01-01")?;
        b.trail.push(t.elapsed());

        let subject = Subject::Lot { participant: participant.clone(), lot: lot.clone() };
        let t = Instant::now();
        let bundle = export::export(ledger, signer, &subject)?;
        let tj = Instant::now();
        let bytes = bundle.to_json();
        b.json.push(tj.elapsed());
        b.export.push(t.elapsed());

        let t = Instant::now();
        let report = bundle::verify(&bytes, &roster, &opts);
        b.verify.push(t.elapsed());
        if !report.valid {
            for p in &report.problems {
                eprintln!("  [{}] {}", p.code, p.message);
            }
            bail!("the bundle of lot {lot} of {participant} does not verify: {} problems", report.problems.len());
        }
        match &report.trail {
            Some(v) if v.productions == tr.productions && v.depth == tr.depth => {}
            _ => bail!("the bundle of lot {lot} of {participant} does not rebuild the lot's trail"),
        }

        let t = Instant::now();
        let mut signatures = 0;
        for e in &bundle.entries {
            let v = SignedEntry::parse(e.entry.0.clone()).and_then(SignedEntry::into_verified);
            let v = v.map_err(|e| anyhow::anyhow!("a bundled entry does not verify: {e}"))?;
            signatures += 1 + usize::from(v.record.is_some());
        }
        for c in &bundle.checkpoints {
            let cp = SignedCheckpoint::parse(c.checkpoint.0.clone())?;
            cp.verify()?;
            for s in &c.cosignatures {
                s.verify(&cp)?;
            }
            signatures += 1 + c.cosignatures.len();
        }
        b.signature_checks.push(t.elapsed());

        b.entries.push(bundle.entries.len());
        b.bytes.push(bytes.len());
        b.logs.push(bundle.checkpoints.len());
        b.cosignatures.push(bundle.checkpoints.iter().map(|c| c.cosignatures.len()).sum());
        b.signatures.push(signatures);
    }
    Ok(b)
}

/// How the countersigning run submits one entry of the workload.
enum Plan {
    /// As it is: the monitor's zone status (the node holds no monitor key).
    Entry(Vec<u8>),
    /// The licensee's record, for the node to countersign.
    Record(Vec<u8>, kp_schemas::SignatureBytes),
    /// An authority's own entry, for the node to sign as an action.
    Action(String, Body),
}

fn countersign_ratio(w: &workload::Workload, args: &Args) -> anyhow::Result<()> {
    let n = w.entries.len();
    let parsed: Vec<SignedEntry> =
        w.entries.par_iter().map(|b| SignedEntry::parse(b.clone()).expect("generated entries parse")).collect();
    let code_of: std::collections::HashMap<kp_schemas::PublicKey, String> =
        w.keys.authorities.iter().map(|(c, k)| (k.public(), c.clone())).collect();
    let plan: Vec<(kp_schemas::Hash32, Plan)> = parsed
        .iter()
        .map(|e| {
            let x = e.entry();
            let p = match (&x.body, code_of.get(&x.author)) {
                (Body::Countersigned(c), _) => Plan::Record(c.record.0.clone(), c.signature),
                (body, Some(code)) => Plan::Action(code.clone(), body.clone()),
                (_, None) => Plan::Entry(e.bytes().to_vec()),
            };
            (e.hash(), p)
        })
        .collect();

    // What a node adds to each entry it signs when it checks the signed
    // bytes as a peer parses them (`SignedEntry::sign_checked` against
    // `SignedEntry::sign`), on one core: the writer thread signs, so this
    // is on its sequential path.
    let t = Instant::now();
    for e in &parsed {
        std::hint::black_box(SignedEntry::parse(e.bytes().to_vec()).expect("generated entries parse"));
    }
    let parse_us = t.elapsed().as_secs_f64() * 1e6 / n as f64;
    let key = w.keys.authority("CF");
    let sample: Vec<&SignedEntry> = parsed.iter().filter(|e| e.entry().author == key.public()).take(20_000).collect();
    let per = |f: &dyn Fn(&SignedEntry)| {
        let t = Instant::now();
        sample.iter().for_each(|e| f(e));
        t.elapsed().as_secs_f64() * 1e6 / sample.len().max(1) as f64
    };
    let (mut sign_us, mut checked_us) = (f64::MAX, f64::MAX);
    // Interleaved, best of three: the difference is a few percent of either.
    for _ in 0..3 {
        sign_us = sign_us.min(per(&|e| {
            std::hint::black_box(SignedEntry::sign(e.entry().clone(), key));
        }));
        checked_us = checked_us.min(per(&|e| {
            std::hint::black_box(SignedEntry::sign_checked(e.entry().clone(), key).expect("generated entries pass"));
        }));
    }
    println!(
        "one core: SignedEntry::parse {parse_us:.2} us per entry (mean over the workload); over {} CF entries, SignedEntry::sign {sign_us:.2} us, sign_checked {checked_us:.2} us (+{:.2} us)",
        sample.len(),
        checked_us - sign_us
    );
    drop(parsed);

    // Wall time and CPU time of all rounds, pre-signed then countersigned.
    let (mut secs_of, mut cpu_of) = ([0.0; 2], [0.0; 2]);
    println!(
        "countersign: {n} entries per run, {} rounds of: pre-signed entries (baseline); records and actions the node signs",
        args.rounds
    );
    for round in 0..args.rounds {
        let mut order = [false, true];
        if round % 2 == 1 {
            order.reverse();
        }
        for node_signs in order {
            let (secs, cpu, others) = countersign_run(w, &plan, args.batch, node_signs)?;
            let name = if node_signs { "countersigned" } else { "pre-signed" };
            println!(
                "round {} {name:<13} {:>6.0} entries/s ({secs:.1} s, {:.1} us CPU per entry, other processes {others:.2} cores)",
                round + 1,
                n as f64 / secs,
                cpu * 1e6 / n as f64
            );
            secs_of[usize::from(node_signs)] += secs;
            cpu_of[usize::from(node_signs)] += cpu;
        }
    }
    let k = (n * args.rounds) as f64;
    println!(
        "all rounds: pre-signed {:.0} entries/s, {:.1} us CPU per entry; countersigned {:.0} entries/s, {:.1} us CPU per entry; countersigned / pre-signed = {:.2} (CPU: {:.2})",
        k / secs_of[0],
        cpu_of[0] * 1e6 / k,
        k / secs_of[1],
        cpu_of[1] * 1e6 / k,
        secs_of[0] / secs_of[1],
        cpu_of[0] / cpu_of[1]
    );
    Ok(())
}

/// One ingest into a fresh store: the entries as they are, or signed by the
/// node. Returns the wall time, the CPU time of this process (all threads)
/// and the cores other processes kept busy.
fn countersign_run(
    w: &workload::Workload,
    plan: &[(kp_schemas::Hash32, Plan)],
    batch: usize,
    node_signs: bool,
) -> anyhow::Result<(f64, f64, f64)> {
    let n = w.entries.len();
    let tmp = tempfile::tempdir()?;
    let ledger = Arc::new(Ledger::open(
        Box::new(RocksStore::open(&tmp.path().join("db"))?),
        Some(&w.keys.roster(workload::NETWORK)),
    )?);
    let mut keys = Keyring::default();
    if node_signs {
        w.keys.authorities.iter().for_each(|(_, k)| keys.insert(k.clone()));
    }
    let writer = Writer::new(ledger.clone(), keys, Arc::new(Metrics::default()));
    let ingest_bar = bar(n as u64, if node_signs { "countersign" } else { "pre-signed" });
    let (t, cpu0, all0) = (Instant::now(), cpu_secs(), machine_cpu_secs());
    let process = |subs: Vec<Submission>| -> anyhow::Result<Vec<kp_schemas::api::Submitted>> {
        let len = subs.len() as u64;
        let r =
            writer.process(subs).into_iter().map(|r| r.and_then(Outcome::into_reply)).collect::<Result<Vec<_>, _>>();
        ingest_bar.inc(len);
        r.map_err(|e| anyhow::anyhow!("a generated entry was refused: {e}"))
    };
    if node_signs {
        // The hash the node gave each entry of the workload, for the
        // confirmations that name an export.
        let mut renamed: std::collections::HashMap<kp_schemas::Hash32, kp_schemas::Hash32> = Default::default();
        let mut waiting: Vec<(String, kp_schemas::model::ImportConfirmation)> = Vec::new();
        let (mut subs, mut origins) = (Vec::with_capacity(batch), Vec::with_capacity(batch));
        let mut steps = plan.iter().peekable();
        while steps.peek().is_some() || !waiting.is_empty() {
            for (code, mut c) in std::mem::take(&mut waiting) {
                match renamed.get(&c.certificate_entry) {
                    Some(h) => {
                        c.certificate_entry = *h;
                        let body = Body::ImportConfirmation(c);
                        subs.push(Submission::Action { as_author: Some(code), body });
                        origins.push(None);
                    }
                    None => waiting.push((code, c)),
                }
            }
            while subs.len() < batch {
                let Some((hash, p)) = steps.next() else { break };
                let sub = match p {
                    Plan::Entry(b) => Submission::Entry(b.clone()),
                    Plan::Record(record, signature) => {
                        Submission::Record { record: record.clone(), signature: *signature }
                    }
                    Plan::Action(code, Body::ImportConfirmation(c)) => {
                        waiting.push((code.clone(), c.clone()));
                        continue;
                    }
                    Plan::Action(code, body) => {
                        Submission::Action { as_author: Some(code.clone()), body: body.clone() }
                    }
                };
                subs.push(sub);
                origins.push(Some(*hash));
            }
            if subs.is_empty() && steps.peek().is_none() {
                bail!("{} confirmations name an export that was not stored", waiting.len());
            }
            let done = process(std::mem::take(&mut subs))?;
            for (o, s) in std::mem::take(&mut origins).into_iter().zip(done) {
                if let Some(o) = o {
                    renamed.insert(o, s.hash);
                }
            }
        }
    } else {
        for chunk in w.entries.chunks(batch) {
            process(chunk.iter().map(|b| Submission::Entry(b.clone())).collect())?;
        }
    }
    let (secs, cpu) = (t.elapsed().as_secs_f64(), cpu_secs() - cpu0);
    let others = ((machine_cpu_secs() - all0 - cpu) / secs).max(0.0);
    ingest_bar.finish_and_clear();
    if ledger.entry_count() != n as u64 {
        bail!("{} entries stored of {n}", ledger.entry_count());
    }
    Ok((secs, cpu, others))
}
