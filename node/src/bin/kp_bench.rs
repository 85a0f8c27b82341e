//! kp-bench: ingest throughput against this machine's signature bound, trail
//! latency, bytes on disk per entry and peak memory, measured in one run.
//! Figures and commands are recorded in docs/BENCHMARKS.md.

use anyhow::bail;
use clap::Parser;
use indicatif::{ProgressBar, ProgressStyle};
use kp_node::ingest::{Submission, Writer};
use kp_node::keys::Keyring;
use kp_node::ledger::Ledger;
use kp_node::metrics::Metrics;
use kp_node::store::RocksStore;
use kp_node::workload;
use kp_schemas::crypto::{Domain, verify};
use kp_schemas::model::Body;
use kp_schemas::{SignedEntry, trail};
use rayon::prelude::*;
use std::sync::Arc;
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
    println!(
        "kp-bench: {} entries, {} deep lots, batches of {}, {} threads",
        args.entries,
        args.deep,
        args.batch,
        rayon::current_num_threads()
    );

    let t = Instant::now();
    let gen_bar = bar(args.entries as u64, "generate");
    let w = workload::generate(args.entries, args.deep, &|i| gen_bar.set_position(i as u64));
    gen_bar.finish_and_clear();
    let n = w.entries.len();
    let wire: usize = w.entries.iter().map(Vec::len).sum();
    println!(
        "generated {n} entries ({:.0} bytes each on the wire) in {:.1} s",
        wire as f64 / n as f64,
        t.elapsed().as_secs_f64()
    );

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
    let store = RocksStore::open(&dir)?;
    let ledger = Arc::new(Ledger::open(Box::new(store), Some(&w.keys.roster(workload::NETWORK)))?);
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
            if let Err(e) = r {
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
    let disk = ledger.store().disk_bytes()?;
    println!("disk: {:.1} MiB, {:.0} bytes per entry", disk as f64 / (1 << 20) as f64, disk as f64 / n as f64);
    Ok(())
}

/// Stage timings on a second, fresh store.
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
