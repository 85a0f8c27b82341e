//! kp-statsbench: what keeping the statistics book costs ingest, and how
//! fast statistics, reports and anomaly scans answer from it. The same
//! generated entries go into fresh stores with the book off (the baseline,
//! `Ledger::without_stats`) and on, in turn, in --rounds rounds; the last
//! store with the book then answers yearly network statistics and
//! participants' reports (p50, p99), full anomaly scans, and is opened
//! again to time the book's rebuild. Figures and commands are recorded in
//! docs/BENCHMARKS.md.

use anyhow::bail;
use clap::Parser;
use kp_dev::workload;
use kp_node::ingest::{Submission, Writer};
use kp_node::keys::Keyring;
use kp_node::ledger::Ledger;
use kp_node::metrics::Metrics;
use kp_node::outcome::Outcome;
use kp_node::store::RocksStore;
use kp_schemas::stats::{AnomalyParams, Period, anomaly, query};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(about = "Benchmark kpledger statistics: ingest with and without the book, report and scan latency")]
struct Args {
    /// Entries to generate and ingest.
    #[arg(long, default_value_t = 1_000_000)]
    entries: usize,
    /// Submissions per group commit.
    #[arg(long, default_value_t = 4096)]
    batch: usize,
    /// Rounds of (without, with) the book, in turn forward and backward.
    #[arg(long, default_value_t = 2)]
    rounds: usize,
    /// Statistics and report queries to time.
    #[arg(long, default_value_t = 200)]
    queries: usize,
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize].as_secs_f64() * 1e3
}

fn ingest(w: &workload::Workload, batch: usize, stats: bool) -> anyhow::Result<(f64, Arc<Ledger>, tempfile::TempDir)> {
    let tmp = tempfile::tempdir()?;
    let store = RocksStore::open(&tmp.path().join("db"))?;
    let mut ledger = Ledger::open(Box::new(store), Some(&w.keys.roster(workload::NETWORK)))?;
    if !stats {
        ledger = ledger.without_stats();
    }
    let ledger = Arc::new(ledger);
    let writer = Writer::new(ledger.clone(), Keyring::default(), Arc::new(Metrics::default()));
    let t = Instant::now();
    for chunk in w.entries.chunks(batch) {
        let subs = chunk.iter().map(|b| Submission::Entry(b.clone())).collect();
        for r in writer.process(subs) {
            if let Err(e) = r.and_then(Outcome::into_reply) {
                bail!("a generated entry was refused: {e}");
            }
        }
    }
    Ok((t.elapsed().as_secs_f64(), ledger, tmp))
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let t = Instant::now();
    let w = workload::generate(args.entries, 0, &|_| {});
    let n = w.entries.len();
    println!("kp-statsbench: {n} entries generated in {:.1} s, batches of {}", t.elapsed().as_secs_f64(), args.batch);

    let (mut without, mut with) = (0.0, 0.0);
    let mut kept = None;
    for round in 0..args.rounds {
        let order = if round % 2 == 0 { [false, true] } else { [true, false] };
        for stats in order {
            let (secs, ledger, dir) = ingest(&w, args.batch, stats)?;
            println!(
                "round {} {:<14} {:>7.0} entries/s ({secs:.1} s)",
                round + 1,
                if stats { "with the book" } else { "without (base)" },
                n as f64 / secs
            );
            if stats {
                with += secs;
                kept = Some((ledger, dir));
            } else {
                without += secs;
            }
        }
    }
    println!("ingest with the book / without = {:.3} (throughput, all rounds)", without / with);
    let (ledger, dir) = kept.expect("at least one round");

    let participants: Vec<String> = ledger.network().participants.keys().cloned().collect();
    let years = [2016, 2017, 2018];
    let mut lat = Vec::new();
    for i in 0..args.queries {
        let q = query::Query { period: Period::year(years[i % 3]), participant: None, partner: None, hs: None };
        let t = Instant::now();
        let s = ledger.with_book(|b| query::stats(b, &participants, &q));
        let bytes = serde_json::to_vec(&s)?;
        lat.push(t.elapsed());
        std::hint::black_box(bytes);
    }
    lat.sort();
    println!(
        "yearly network statistics (every participant, JSON): p50 {:.2} ms, p99 {:.2} ms over {} queries",
        percentile(&lat, 0.5),
        percentile(&lat, 0.99),
        lat.len()
    );

    let params = ledger.anomaly_defaults();
    let mut lat = Vec::new();
    for i in 0..args.queries {
        let who = &participants[i % participants.len()];
        let period = Period::year(years[(i / participants.len()) % 3]);
        let t = Instant::now();
        let found = ledger.anomalies(&period, &params);
        let r = ledger.with_book(|b| query::report(b, &participants, who, who, &period, &found.anomalies));
        let bytes = serde_json::to_vec(&r)?;
        lat.push(t.elapsed());
        std::hint::black_box(bytes);
    }
    lat.sort();
    println!(
        "participant's yearly report (JSON, anomaly scan of its year kept until the book changes): p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms over {} queries",
        percentile(&lat, 0.5),
        percentile(&lat, 0.99),
        percentile(&lat, 1.0),
        lat.len()
    );

    let all = Period::parse("2015-01-01..2019-12-31").map_err(anyhow::Error::msg)?;
    let mut scans = Vec::new();
    let mut found = 0;
    for _ in 0..5 {
        let t = Instant::now();
        let a = ledger.with_book(|b| anomaly::scan(b, &all, &AnomalyParams::for_book(b)));
        scans.push(t.elapsed());
        found = a.anomalies.len();
    }
    scans.sort();
    let certs = ledger.with_book(|b| b.certs.len());
    println!(
        "full anomaly scan ({certs} certificates, {found} findings): p50 {:.0} ms, max {:.0} ms over {} scans",
        percentile(&scans, 0.5),
        percentile(&scans, 1.0),
        scans.len()
    );

    let t = Instant::now();
    ledger.reload_book()?;
    println!(
        "book rebuilt from the derived state (as at every start): {:.2} s, {} day figures",
        t.elapsed().as_secs_f64(),
        ledger.with_book(|b| b.buckets.len())
    );
    drop(ledger);
    drop(dir);
    Ok(())
}
